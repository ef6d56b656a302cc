#!/usr/bin/env python3
"""Holdout test data for PodFactory-user -> employee matching.

Written without looking at the matcher, so its choices test the matcher
instead of mirroring it.  Writes into --out:

  employees.csv    the HR system (source of truth)
  podfactory.csv   the vendor app's users, with realistic noise
  truth.csv        podfactory_id -> employee_id (empty: no true employee)
  noise.csv        per PodFactory user: category and the noise applied
                   (read by score.py to explain failures; not matcher input)

Usage: generate.py --seed N --employees E --out DIR [--no-emails]
                   [--no-previous-names] [--quiet]
Standard library only; the same seed always gives the same files.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import random
import sys
import unicodedata
from dataclasses import dataclass, field


def _l(text: str) -> list[str]:
    """Comma-separated list literal -> list (names may contain spaces)."""
    return [x.strip() for x in text.replace("\n", " ").split(",") if x.strip()]


# ---------------------------------------------------------------------------
# Name data.  Each list is ordered roughly by popularity; draws use Zipf-like
# weights on that order so common names repeat the way they do on a real
# production floor.
# ---------------------------------------------------------------------------

CULTURES: dict[str, dict] = {
    "hispanic": dict(
        weight=34, diacritics=0.55, double_surname=0.22, middle=0.12, head=1.0,
        anglo_given=0.18, male=_l("""
            José, Juan, Luis, Carlos, Jesús, Miguel, Francisco, Antonio, Jorge,
            Alejandro, Pedro, Manuel, Ricardo, Fernando, Javier, Roberto, Daniel,
            Eduardo, Sergio, Raúl, Héctor, Rafael, Guillermo, Ignacio, Arturo,
            Víctor, Óscar, Alfredo, Ramón, Andrés, Gerardo, Enrique, Rubén, Julio,
            Mario, Ernesto, Salvador, Armando, Joaquín, Adrián, Iván, Emilio,
            Gustavo, Rogelio, Efraín, Santiago, Mateo, Diego, Ángel, Germán,
            Agustín, Nicolás, Tomás, Alberto, José Luis, Juan Carlos, Luis Ángel,
            Juan Pablo, Jesús Manuel, Alfonso, Benjamín, Bernardo, César,
            Cristian, Edgar, Eliseo, Esteban, Felipe, Gilberto, Gonzalo, Hugo,
            Isidro, Jaime, Leonardo, Lorenzo, Marco Antonio, Martín, Mauricio,
            Moisés, Noé, Octavio, Pablo, Refugio, Reynaldo, Rodrigo, Saúl,
            Sebastián, Ulises, Valentín, Abel, Baltazar, Elías, Fidel, Isaac,
            Leonel, Osvaldo, Ramiro, Uriel"""),
        female=_l("""
            María, Guadalupe, Ana, Rosa, Juana, Margarita, Verónica, Leticia,
            Alejandra, Patricia, Gabriela, Claudia, Adriana, Silvia, Yolanda,
            Araceli, Sandra, Lucía, Teresa, Carmen, Josefina, Martha, Isabel,
            Mónica, Daniela, Fernanda, Sofía, Valeria, Ximena, Beatriz, Dolores,
            Concepción, Socorro, Maricela, Yesenia, Itzel, Karla, Lorena,
            Graciela, Rocío, Inés, Consuelo, Esperanza, Marisol, Noemí, Belén,
            Ramona, María Guadalupe, Ana María, María de los Ángeles,
            María José, María Elena, Alicia, Angélica, Blanca, Cecilia, Diana,
            Elena, Elvira, Erika, Estela, Eva, Gloria, Irma, Jazmín, Julia,
            Liliana, Lourdes, Luz, Marisela, Mayra, Mercedes, Miriam, Norma,
            Olga, Paola, Perla, Raquel, Reyna, Rosario, Susana, Tania, Viridiana,
            Zulema, Griselda, Nayeli, Aurora, Irene, Elsa"""),
        surnames=_l("""
            García, Rodríguez, Martínez, Hernández, López, González, Pérez,
            Sánchez, Ramírez, Torres, Flores, Rivera, Gómez, Díaz, Reyes, Morales,
            Cruz, Ortiz, Gutiérrez, Chávez, Ramos, Ruiz, Álvarez, Mendoza,
            Castillo, Jiménez, Vásquez, Moreno, Herrera, Medina, Aguilar, Vargas,
            Guzmán, Méndez, Castro, Muñoz, Rojas, Salazar, Ortega, Delgado, Núñez,
            Ibarra, Peña, Soto, Contreras, Luna, Ríos, Guerrero, Estrada,
            Sandoval, Domínguez, Cervantes, Valdez, Figueroa, Espinoza, Fuentes,
            Cárdenas, Acosta, Trujillo, Zamora, Navarro, Escobar, Villanueva,
            Bautista, Garza, Treviño, Quiñones, Ybarra, Zúñiga, Montoya,
            de la Cruz, de León, de los Santos, del Río, de la Rosa, Villaseñor,
            Saldaña, Orozco, Velázquez, Padilla, Cisneros, Cantú, Galván,
            Maldonado, Arellano, Barajas, Becerra, Cabrera, Camacho, Carrillo,
            Corona, Duarte, Esquivel, Gallegos, Juárez, Lara, Lozano, Macías,
            Marín, Meza, Miranda, Molina, Montes, Nava, Ochoa, Olvera, Pacheco,
            Palacios, Quintero, Rangel, Rosales, Serrano, Solís, Tapia, Tovar,
            Valencia, Vega, Zavala, Ávila, Beltrán, Calderón, Escamilla,
            Ponce de León, Garcés, Gallardo, Hinojosa, Aguirre, Alvarado,
            Andrade, Arias, Avilés, Barrera, Benítez, Bermúdez, Cano, Carrasco,
            Castañeda, Cortés, Cuevas, Dávila, Echeverría, Elizondo, Enríquez,
            Escalante, Fajardo, Franco, Gamboa, Gil, Granados, Guerra, Huerta,
            Iglesias, Lira, Lucero, Magaña, Mata, Mejía, Montalvo, Muñiz, Nieto,
            Ojeda, Paredes, Patiño, Perales, Pineda, Portillo, Prieto, Quintana,
            Quiroz, Rentería, Robles, Rocha, Rubio, Salas, Salinas, Santana,
            Sepúlveda, Sierra, Silva, Suárez, Tejeda, Urbina, Valadez, Valle,
            Varela, Villa, Villarreal, Yáñez, Zapata, Zepeda"""),
    ),
    "anglo": dict(
        weight=30, diacritics=0.7, double_surname=0.0, middle=0.45, head=0.5,
        anglo_given=0.0, male=_l("""
            James, Michael, Robert, John, David, William, Richard, Joseph, Thomas,
            Christopher, Charles, Daniel, Matthew, Anthony, Mark, Donald, Steven,
            Paul, Andrew, Joshua, Kenneth, Kevin, Brian, George, Timothy, Ronald,
            Edward, Jason, Jeffrey, Ryan, Jacob, Gary, Nicholas, Eric, Jonathan,
            Stephen, Larry, Justin, Scott, Brandon, Benjamin, Samuel, Gregory,
            Alexander, Frank, Patrick, Raymond, Jack, Dennis, Jerry, Tyler, Aaron,
            Henry, Douglas, Zachary, Peter, Kyle, Nathan, Walter, Terrence,
            DeShawn, Jamal, Tyrone, Darnell, Marquis, Dwayne, Cody, Dustin,
            Travis, Wesley, Austin, Seán, Liam, Connor, Rhys, Cedric, Adam, Carl,
            Arthur, Gerald, Roger, Keith, Jeremy, Lawrence, Sean, Christian,
            Ethan, Bryan, Harold, Jesse, Bruce, Gabriel, Logan, Alan, Albert,
            Willie, Elijah, Wayne, Randy, Vincent, Mason, Roy, Ralph, Bradley,
            Philip, Eugene, Louis, Leonard, Derek, Marcus, Curtis, Shane, Chad,
            Trevor, Malik, Andre, Jermaine, Lamar, Darius, Corey, Derrick,
            Quentin, Xavier, Troy, Clayton, Colton, Hunter, Garrett, Blake,
            Caleb, Levi, Owen, Luke"""),
        female=_l("""
            Mary, Patricia, Jennifer, Linda, Elizabeth, Barbara, Susan, Jessica,
            Sarah, Karen, Lisa, Nancy, Betty, Margaret, Sandra, Ashley, Kimberly,
            Emily, Donna, Michelle, Carol, Amanda, Dorothy, Melissa, Deborah,
            Stephanie, Rebecca, Sharon, Laura, Cynthia, Kathleen, Katherine, Amy,
            Angela, Shirley, Anna, Brenda, Pamela, Emma, Nicole, Helen, Samantha,
            Christina, Rachel, Tiffany, Crystal, Brittany, Latoya, Keisha, Tamika,
            Ebony, Siobhán, Zoë, Renée, Chloé, Mary Ann, Abigail, Victoria,
            Heather, Diane, Ruth, Julie, Olivia, Joyce, Virginia, Kelly,
            Christine, Joan, Evelyn, Lauren, Judith, Megan, Andrea, Cheryl,
            Hannah, Jacqueline, Gloria, Ann, Sara, Madison, Frances, Janice,
            Jean, Alice, Judy, Isabella, Julia, Grace, Amber, Denise, Danielle,
            Marilyn, Beverly, Charlotte, Natalie, Theresa, Diana, Courtney,
            Shanice, Tasha, Monique, Aaliyah, Destiny, Jasmine, Kayla, Alexis,
            Haley, Whitney, Tonya, Wanda, Krystal"""),
        surnames=_l("""
            Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson,
            Anderson, Taylor, Thomas, Moore, Jackson, Martin, Lee, Thompson,
            White, Harris, Clark, Lewis, Robinson, Walker, Young, Allen, King,
            Wright, Scott, Hill, Green, Adams, Baker, Nelson, Carter, Mitchell,
            Roberts, Turner, Phillips, Campbell, Parker, Evans, Edwards, Collins,
            Stewart, Morris, Murphy, Cook, Rogers, Morgan, Peterson, Cooper, Reed,
            Bailey, Bell, Kelly, Howard, Ward, Cox, Richardson, Wood, Watson,
            Brooks, Bennett, Gray, James, Hughes, Price, Sanders, Myers, Long,
            Ross, Foster, Powell, Jenkins, Perry, Russell, Sullivan, Butler,
            Barnes, Fisher, Henderson, Coleman, Simmons, Patterson, Jordan,
            Reynolds, Hamilton, Graham, Wallace, Washington, O'Brien, O'Connor,
            O'Neill, McDonald, MacDonald, McCarthy, Fitzgerald, St. John,
            Jefferson, Freeman, Dixon, Hayes, Gibson, Ellis, Marshall, Owens,
            Ramsey, Holmes, Stone, Warren, Ford, Hunt, Black, Daniels, Palmer,
            Mills, Nichols, Grant, Knight, Ferguson, Rose, Hawkins, Dunn,
            Perkins, Hudson, Spencer, Gardner, Stephens, Payne, Pierce, Berry,
            Matthews, Arnold, Willis, Ray, Watkins, Olson, Carroll, Duncan,
            Snyder, Hart, Cunningham, Bradley, Lane, Andrews, Harper, Fox,
            Riley, Armstrong, Carpenter, Weaver, Greene, Lawrence, Elliott,
            Chambers, Porter, Hunter, Hicks, Crawford, Henry, Boyd, Mason,
            Kennedy, Burns, Gordon, Shaw, Holland, Harrison, Tucker, Rice,
            Wells, Robertson, Webb, Simpson, Stevens, Burke, Whitfield, Barker,
            Haynes, Gaines, Vaughn, Bishop, McKinney, McLaughlin, Flanagan,
            Doyle, Quinn, Gallagher"""),
    ),
    "vietnamese": dict(
        weight=7, diacritics=0.12, double_surname=0.0, middle=0.55,
        anglo_given=0.22, english=0.15, family_first=0.06, surname_zipf=1.2,
        male=_l("""
            Minh, Hùng, Tuấn, Dũng, Hải, Long, Nam, Quang, Thanh, Khoa, Bảo, Duy,
            Hiếu, Phúc, Sơn, Thắng, Trung, Việt, Tú, Hoàng, Khang, Lộc, Tài, Vinh,
            An, Bình, Cường, Đạt, Hiển, Huy, Kiên, Lâm, Nhân, Phong, Quân, Tân,
            Thịnh, Toàn, Vũ, Hào, Khôi, Nghĩa"""),
        female=_l("""
            Linh, Anh, Hương, Lan, Thảo, Trang, Phương, Tâm, Vy, Hoa, Mai, Ngọc,
            Tuyết, Hạnh, Thu, Kim, Loan, Nhung, Yến, Diễm, Hằng, Nga, Oanh, Uyên,
            Châu, Dung, Giang, Hà, Hiền, Huyền, Liên, My, Nhi, Quyên, Thủy, Trâm,
            Vân, Xuân, Ánh, Bích, Cúc, Đào"""),
        middle_m=_l("Văn, Đức, Quốc, Minh, Hoàng, Thanh, Công, Hữu"),
        middle_f=_l("Thị, Ngọc, Thanh, Kim, Bích, Mỹ, Thu, Hồng"),
        surnames=_l("""
            Nguyễn, Trần, Lê, Phạm, Huỳnh, Hoàng, Phan, Võ, Vũ, Đặng, Bùi, Đỗ, Hồ,
            Ngô, Dương, Lý, Trương, Đinh, Lâm, Tạ, Mai, Cao, Lương, Tô, Châu,
            Quách, La, Thái, Vương, Đoàn"""),
    ),
    "filipino": dict(
        weight=5, diacritics=1.0, double_surname=0.0, middle=0.6,
        middle_is_surname=True, anglo_given=0.25, male=_l("""
            Jose, Mark, John Paul, Jonathan, Rodel, Jerome, Ronaldo, Arnel,
            Rommel, Jericho, Edgardo, Reynaldo, Ariel, Danilo, Rolando, Efren,
            Jun, Marlon, Noel, Benjie"""),
        female=_l("""
            Maria, Marites, Jocelyn, Rowena, Analyn, Maricel, Rhea, Joy, Cristina,
            Jennifer, Michelle, Rizalina, Lorna, Marivic, Girlie, Lovely, Mylene,
            Charmaine, Divina, Erlinda"""),
        surnames=_l("""
            Santos, Reyes, Cruz, Bautista, Ocampo, Garcia, Mendoza, Torres, Tomas,
            Andrada, Castillo, Flores, Villanueva, Ramos, Castro, Rivera, Aquino,
            Navarro, Salazar, Mercado, Dela Cruz, Dela Rosa, De Guzman,
            Delos Reyes, Manalo, Macaraeg, Pangilinan, Dimaculangan, Magbanua,
            Soriano, Tolentino, Lacson, Panganiban, Evangelista, Gonzales"""),
    ),
    "chinese": dict(
        weight=3, diacritics=1.0, double_surname=0.0, middle=0.0,
        anglo_given=0.2, english=0.35, family_first=0.08, male=_l("""
            Wei, Ming, Jun, Lei, Jian, Qiang, Tao, Hao, Bo, Yong, Zhen, Kai, Jie,
            Xiaoming, Zhiwei, Chen"""),
        female=_l("""
            Jing, Li, Hui, Yan, Xin, Fang, Hong, Yu, Ying, Ling, Mei, Xiaoyan,
            Lihua, Qian, Na, Yun"""),
        surnames=_l("""
            Wang, Li, Zhang, Liu, Chen, Yang, Huang, Zhao, Wu, Zhou, Xu, Sun, Ma,
            Zhu, Hu, Guo, He, Lin, Luo, Zheng, Liang, Xie, Tang, Lu, Feng, Deng,
            Cao, Lam, Chan, Wong, Ng, Leung, Cheung"""),
    ),
    "korean": dict(
        weight=2, diacritics=1.0, double_surname=0.0, middle=0.0,
        anglo_given=0.25, english=0.3, family_first=0.08, surname_zipf=1.3,
        male=_l("""
            Min-jun, Ji-hoon, Hyun-woo, Jae-won, Sung-min, Young-ho, Dong-hyun,
            Sang-woo, Jin, Joon-young, Seung-ho, Tae-yang"""),
        female=_l("""
            Seo-yeon, Ji-woo, Soo-jin, Eun-ji, Hye-jin, Ji-young, Min-seo,
            Yoon-ah, Su-bin, Ha-eun, Mi-kyung, Eun-hee"""),
        surnames=_l("""
            Kim, Lee, Park, Choi, Jung, Kang, Cho, Yoon, Jang, Lim, Han, Oh, Seo,
            Shin, Kwon, Hwang, Ahn, Song, Yoo, Hong"""),
    ),
    "indian": dict(
        weight=4, diacritics=1.0, double_surname=0.0, middle=0.15,
        anglo_given=0.05, surname_zipf=0.9, male=_l("""
            Rahul, Amit, Vikram, Sanjay, Deepak, Ravi, Arjun, Rajesh, Suresh,
            Venkatesh, Srinivas, Harpreet, Gurpreet, Sandeep, Ramesh, Karthik,
            Aditya, Nikhil, Manoj, Prakash"""),
        female=_l("""
            Priya, Anjali, Sunita, Pooja, Neha, Kavita, Lakshmi, Meena, Divya,
            Shreya, Ananya, Manpreet, Swati, Rekha, Padma, Deepa"""),
        surnames=_l("""
            Patel, Singh, Shah, Kumar, Sharma, Gupta, Reddy, Rao, Desai, Mehta,
            Joshi, Iyer, Nair, Pillai, Chaudhary, Agarwal, Bhatt, Kaur, Verma,
            Malhotra, Kapoor, Menon, Banerjee, Mukherjee, Chatterjee, Srinivasan,
            Venkataraman, Subramanian, Krishnamurthy, Gill"""),
    ),
    "arabic": dict(
        weight=3, diacritics=1.0, double_surname=0.0, middle=0.2,
        anglo_given=0.05, male=_l("""
            Mohammed, Ahmed, Ali, Omar, Hassan, Hussein, Khalid, Youssef, Ibrahim,
            Mustafa, Abdullah, Karim, Tariq, Samir, Mahmoud, Bilal, Hamza, Nabil"""),
        female=_l("""
            Fatima, Aisha, Mariam, Layla, Noor, Huda, Rania, Salma, Yasmin, Amira,
            Zainab, Leila, Hana, Samira, Dina, Reem"""),
        surnames=_l("""
            Al-Sayed, Haddad, Khoury, Mansour, Nasser, Saleh, Hamdan, Abdallah,
            Ibrahim, Hassan, Ali, Mahmoud, El-Amin, Al-Masri, Farah, Aziz,
            Qureshi, Rahman, Suleiman, Othman, Yousef, Darwish, Jaber, Khalil,
            Najjar, Sabbagh, Abu-Ghazaleh, Al-Hakim"""),
    ),
    "polish": dict(
        weight=2, diacritics=0.7, double_surname=0.0, middle=0.1,
        anglo_given=0.1, male=_l("""
            Łukasz, Piotr, Krzysztof, Tomasz, Paweł, Michał, Marcin, Jakub,
            Wojciech, Grzegorz, Andrzej, Jędrzej, Bartłomiej, Mateusz, Stanisław"""),
        female=_l("""
            Małgorzata, Agnieszka, Katarzyna, Magdalena, Joanna, Anna, Ewa,
            Dorota, Barbara, Zofia, Beata, Elżbieta, Grażyna, Jadwiga"""),
        surnames=_l("""
            Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński,
            Lewandowski, Zieliński, Szymański, Woźniak, Dąbrowski, Kozłowski,
            Jankowski, Mazur, Wojciechowski, Kwiatkowski, Krawczyk, Kaczmarek,
            Piotrowski, Grabowski, Zając, Pawłowski, Michalski, Wróbel, Król,
            Jabłoński, Górski, Sobczak, Stępień, Chmielewski"""),
    ),
    "german": dict(
        weight=2, diacritics=0.7, double_surname=0.0, middle=0.3,
        anglo_given=0.3, male=_l("""
            Jürgen, Klaus, Stefan, Andreas, Matthias, Wolfgang, Günther, Uwe,
            Dieter, Jörg, Lukas, Jonas, Hans-Peter, Karl-Heinz, Florian"""),
        female=_l("""
            Sabine, Ursula, Monika, Petra, Brigitte, Gisela, Birgit, Katrin,
            Heike, Anneliese, Jutta, Hannelore, Anke"""),
        surnames=_l("""
            Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker,
            Schulz, Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf,
            Schröder, Neumann, Schwarz, Zimmermann, Braun, Krüger, Hofmann,
            Hartmann, Lange, Weiß, Groß, Strauß, Köhler, Vogel, Jäger, Böhm,
            Van der Berg, Van Dyke, de Vries, Janssen, von Holt, Vandenberg"""),
    ),
    "nordic": dict(
        weight=1, diacritics=0.7, double_surname=0.0, middle=0.3,
        anglo_given=0.3, male=_l("Søren, Bjørn, Jørgen, Øyvind, Lars, Anders, Nils, Håkon"),
        female=_l("Kirsten, Ingrid, Solveig, Åse, Sigrid, Astrid, Mette, Liv"),
        surnames=_l("""
            Sørensen, Jørgensen, Østergaard, Lund, Hansen, Nielsen, Larsen,
            Olsen, Berg, Johansson, Lindqvist, Bjørklund, Dahl, Haugen"""),
    ),
    "turkish": dict(
        weight=1.5, diacritics=0.6, double_surname=0.0, middle=0.1,
        anglo_given=0.05, male=_l("""
            Mehmet, Mustafa, Ahmet, Ali, Hüseyin, Hasan, İbrahim, Murat, Emre,
            Burak, Oğuz, Çağrı, Gökhan, Serkan, İsmail"""),
        female=_l("""
            Ayşe, Fatma, Emine, Hatice, Zeynep, Elif, Özlem, Gül, Şule, Büşra,
            Yağmur, Gülşen, Işıl"""),
        surnames=_l("""
            Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Yıldırım, Öztürk, Aydın,
            Özdemir, Arslan, Doğan, Kılıç, Aslan, Çetin, Kara, Koç, Kurt, Özkan,
            Şimşek, Erdoğan, Güneş, Aksoy, Polat"""),
    ),
    "nigerian": dict(
        weight=3.5, diacritics=1.0, double_surname=0.0, middle=0.35,
        anglo_given=0.25, male=_l("""
            Chinedu, Chukwuemeka, Oluwaseun, Adebayo, Babatunde, Obinna, Uchenna,
            Olumide, Kehinde, Taiwo, Olufemi, Abiodun, Ikechukwu, Oluwadamilare,
            Emmanuel, Segun, Nnamdi, Yusuf"""),
        female=_l("""
            Ngozi, Ayodele, Folake, Funmilayo, Ifeoma, Chiamaka, Nkechi, Yetunde,
            Damilola, Bukola, Adaeze, Chioma, Temitope, Blessing, Oluwakemi"""),
        surnames=_l("""
            Okafor, Okonkwo, Adeyemi, Ogunleye, Adebayo, Eze, Nwosu, Okoro, Obi,
            Chukwu, Olawale, Balogun, Oyelaran, Afolabi, Ibekwe, Nwachukwu,
            Oladipo, Okeke, Uche, Ogundipe, Akinola, Adewale, Bello, Musa,
            Oyewole, Onyekachi, Adeleke, Ekwueme"""),
    ),
}

# Given names people actually go by.  Used on the PodFactory side, where
# people type what their coworkers call them.
NICKNAMES: dict[str, list[str]] = {
    # Anglo
    "William": ["Bill", "Will", "Billy", "Liam"], "Robert": ["Bob", "Rob", "Bobby", "Robbie"],
    "Richard": ["Rick", "Rich", "Ricky"], "James": ["Jim", "Jimmy", "Jamie"],
    "John": ["Johnny", "Jack"], "Michael": ["Mike", "Mikey"],
    "Elizabeth": ["Liz", "Beth", "Lizzie", "Betsy"], "Katherine": ["Kate", "Katie", "Kathy"],
    "Kathleen": ["Kathy", "Kat"], "Margaret": ["Maggie", "Peggy", "Meg"],
    "Christopher": ["Chris"], "Matthew": ["Matt"], "Anthony": ["Tony"],
    "Daniel": ["Dan", "Danny"], "Joseph": ["Joe", "Joey"], "Thomas": ["Tom", "Tommy"],
    "Charles": ["Charlie", "Chuck"], "Steven": ["Steve"], "Stephen": ["Steve"],
    "Andrew": ["Andy", "Drew"], "Joshua": ["Josh"], "Kenneth": ["Ken", "Kenny"],
    "Timothy": ["Tim"], "Ronald": ["Ron", "Ronnie"], "Edward": ["Ed", "Eddie", "Ted"],
    "Jeffrey": ["Jeff"], "Jacob": ["Jake"], "Nicholas": ["Nick"], "Jonathan": ["Jon"],
    "Samuel": ["Sam"], "Benjamin": ["Ben"], "Gregory": ["Greg"], "Alexander": ["Alex"],
    "Patrick": ["Pat"], "Raymond": ["Ray"], "Douglas": ["Doug"], "Zachary": ["Zach"],
    "Peter": ["Pete"], "Nathan": ["Nate"], "Terrence": ["Terry"], "Gary": ["G"],
    "Jennifer": ["Jen", "Jenny"], "Patricia": ["Pat", "Patty", "Trish"],
    "Susan": ["Sue", "Susie"], "Jessica": ["Jess"], "Kimberly": ["Kim"],
    "Deborah": ["Debbie", "Deb"], "Stephanie": ["Steph"], "Rebecca": ["Becky"],
    "Cynthia": ["Cindy"], "Pamela": ["Pam"], "Samantha": ["Sam"], "Christina": ["Tina"],
    "Barbara": ["Barb"], "Amanda": ["Mandy"], "Melissa": ["Missy"], "Nicole": ["Nikki"],
    "Victoria": ["Vicky", "Tori"], "Abigail": ["Abby"], "Dorothy": ["Dot"],
    # Hispanic
    "Jesús": ["Chuy", "Chucho"], "Guadalupe": ["Lupe", "Lupita"], "José": ["Pepe", "Joe"],
    "Ignacio": ["Nacho"], "Francisco": ["Paco", "Pancho", "Frank"], "Antonio": ["Tony", "Toño"],
    "Alejandro": ["Alex"], "Alejandra": ["Alex", "Ale"], "Roberto": ["Beto"],
    "Alberto": ["Beto"], "Eduardo": ["Lalo"], "Enrique": ["Kike", "Henry"],
    "Guillermo": ["Memo", "Willie"], "Manuel": ["Manny", "Manolo"], "Ricardo": ["Rick", "Ricky"],
    "Fernando": ["Nando"], "Concepción": ["Conchita", "Connie"], "Dolores": ["Lola"],
    "Socorro": ["Coco"], "Margarita": ["Maggie"], "Josefina": ["Josie", "Fina"],
    "Javier": ["Javi"], "Rafael": ["Rafa"], "Gerardo": ["Jerry"], "Santiago": ["Santi"],
    "Salvador": ["Chava"], "Daniela": ["Dani"], "Gabriela": ["Gaby"], "Verónica": ["Vero"],
    "María Guadalupe": ["Lupe"], "José Luis": ["Pepe"], "Juan Carlos": ["JC"],
    "María de los Ángeles": ["Angie"], "María José": ["Majo"], "Jesús Manuel": ["Chuy"],
    "Fernanda": ["Fer"], "Leticia": ["Lety"], "Graciela": ["Chela"], "Beatriz": ["Betty"],
    # Polish, German, Nigerian, Indian, Filipino
    "Katarzyna": ["Kasia"], "Małgorzata": ["Gosia"], "Jakub": ["Kuba"], "Joanna": ["Asia"],
    "Bartłomiej": ["Bartek"], "Tomasz": ["Tomek"], "Krzysztof": ["Krzysiek", "Chris"],
    "Agnieszka": ["Aga"], "Wojciech": ["Wojtek"],
    "Jürgen": ["Jurgen"], "Wolfgang": ["Wolf"], "Matthias": ["Matze"],
    "Chukwuemeka": ["Emeka"], "Oluwaseun": ["Seun"], "Babatunde": ["Tunde"],
    "Olufemi": ["Femi"], "Funmilayo": ["Funmi"], "Ikechukwu": ["Ike"], "Chiamaka": ["Amaka"],
    "Damilola": ["Dami"], "Oluwadamilare": ["Dami", "Dare"], "Oluwakemi": ["Kemi"],
    "Temitope": ["Tope"], "Adebayo": ["Bayo"], "Emmanuel": ["Emma", "Manny"],
    "Venkatesh": ["Venky"], "Srinivas": ["Srini"], "Lakshmi": ["Lucky"],
    "Gurpreet": ["Gary"], "Harpreet": ["Harry"],
    "Rizalina": ["Riza"], "Reynaldo": ["Rey", "Jun"], "Edgardo": ["Edgar", "Egay"],
    "Ronaldo": ["Ronnie"], "Jocelyn": ["Joy"], "Marites": ["Tess"],
}

# Transliteration variants of the same given name.
SPELLINGS: dict[str, list[str]] = {
    "Mohammed": ["Mohamed", "Muhammad", "Mohammad", "Mohd"], "Ahmed": ["Ahmad"],
    "Youssef": ["Yousef", "Yusuf"], "Hussein": ["Husain", "Hussain"],
    "Mustafa": ["Mostafa"], "Aisha": ["Aysha", "Ayesha"], "Mariam": ["Maryam", "Miriam"],
    "Yasmin": ["Yasmine", "Jasmin"], "Abdullah": ["Abdallah"], "Leila": ["Layla"],
    "Khalid": ["Khaled"], "Tariq": ["Tarek"],
    "Steven": ["Stephen"], "Jeffrey": ["Geoffrey"], "Sarah": ["Sara"],
    "Katherine": ["Catherine", "Kathryn"], "Rebecca": ["Rebekah"],
    "Jonathan": ["Johnathan", "Jonathon"], "Brittany": ["Britney"],
    "Vásquez": ["Vazquez"], "Gonzales": ["Gonzalez"], "Ybarra": ["Ibarra"],
    "Mehmet": ["Mehmed"], "Yusuf": ["Youssef"], "Huỳnh": ["Huynh", "Hyunh"],
}

ENGLISH_NAMES_M = _l("Kevin, Tony, David, Eric, Jason, Peter, Vincent, Andy, Jimmy, Danny, Steven, Henry")
ENGLISH_NAMES_F = _l("Jenny, Amy, Grace, Vivian, Helen, Lily, Cindy, Tina, Annie, Kelly, Linda, Christine")

DEPARTMENTS = [  # (name, weight, share with a PodFactory account, station suffixes)
    ("Printing", 20, 0.95, ["hp", "shp"]), ("Shipping", 14, 0.95, ["shp", "ship"]),
    ("Picking", 13, 0.95, ["pick"]), ("Packing", 13, 0.95, ["pack"]),
    ("Heat Press", 10, 0.95, ["hp"]), ("Quality", 6, 0.93, ["pack", "shp"]),
    ("Receiving", 6, 0.92, ["pick", "shp"]), ("Maintenance", 4, 0.8, ["hp", "pick"]),
    ("Customer Service", 5, 0.7, ["ship", "shp"]), ("HR", 2, 0.6, ["shp"]),
    ("Office", 7, 0.7, ["shp", "pack"]),
]
ROLES = {  # department -> [(role code, weight)]
    "default": [("OP", 82), ("LEAD", 11), ("SUP", 5), ("MGR", 2)],
    "Quality": [("QA", 85), ("LEAD", 10), ("SUP", 5)],
    "Maintenance": [("MT", 85), ("LEAD", 10), ("SUP", 5)],
    "Customer Service": [("CS", 85), ("LEAD", 10), ("MGR", 5)],
    "HR": [("HR", 80), ("MGR", 20)],
    "Office": [("ADM", 70), ("FIN", 15), ("MGR", 15)],
}
PF_ROLE = {"OP": "operator", "QA": "qc", "MT": "maintenance", "LEAD": "lead",
           "SUP": "supervisor", "MGR": "manager", "CS": "viewer", "HR": "viewer",
           "ADM": "admin", "FIN": "viewer"}
WORKSPACES = [("TX", 50), ("MS", 30), ("NV", 20)]
COMPANY_DOMAINS = ["printforge-pod.com", "inkwellapparel.com", "threadlinepod.com"]
LEGACY_DOMAIN = "desertprints.com"     # acquired NV site; some still use it
STAFFING_DOMAIN = "tempforce-staffing.com"
PERSONAL_DOMAINS = [("gmail.com", 55), ("yahoo.com", 20), ("hotmail.com", 12),
                    ("outlook.com", 8), ("icloud.com", 5)]
HANDLE_WORDS = _l("""sunny, lucky, bigtex, queen, lil, blue, chivas, cowboys, mami,
    papi, gamer, rose, angel, tiger, honey, dreamer, ninja, mamacita, bossbabe,
    rider, shorty, cutie, hustla, tejano, wolf, dragon, pinkie, kingz""")

# ---------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------

# Letters that NFKD does not decompose to ASCII.
_SPECIAL = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "ı": "i", "đ": "d",
            "Đ": "D", "æ": "ae", "Æ": "AE", "œ": "oe", "’": "'"}
# German/Nordic convention when a keyboard lacks the letter (Müller -> Mueller).
_EXPAND = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
           "ø": "oe", "Ø": "Oe", "å": "aa", "Å": "Aa"}


def fold(s: str, expand: bool = False) -> str:
    out = []
    for ch in s:
        if expand and ch in _EXPAND:
            out.append(_EXPAND[ch])
        elif ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        else:
            out.append("".join(c for c in unicodedata.normalize("NFKD", ch)
                               if not unicodedata.combining(c)))
    return "".join(out)


def is_ascii(s: str) -> bool:
    return all(ord(c) < 128 for c in s)


def mojibake(s: str) -> str:
    """UTF-8 bytes read as Windows-1252, the classic 'GarcÃ­a'."""
    out = []
    for b in s.encode("utf-8"):
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(bytes([b]).decode("latin-1"))
    return "".join(out)


def slug(s: str) -> str:
    """Email/username-safe lowercase ASCII with particles joined (de la Cruz -> delacruz)."""
    return "".join(c for c in fold(s).lower() if c.isalnum())


_KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def _neighbours(ch: str) -> str:
    c = ch.lower()
    for row_i, row in enumerate(_KEYBOARD):
        if c in row:
            i = row.index(c)
            near = row[max(0, i - 1):i] + row[i + 1:i + 2]
            for other in (row_i - 1, row_i + 1):
                if 0 <= other < len(_KEYBOARD):
                    near += _KEYBOARD[other][max(0, i - 1):i + 1]
            return near
    return "aeiou"


def typo(word: str, rng: random.Random) -> str:
    """One realistic keyboard slip: swap, drop, double or substitute a letter."""
    if len(word) < 4:
        return word
    # Typos rarely hit the first letter.
    i = rng.randrange(1, len(word) - 1) if rng.random() < 0.85 else rng.randrange(len(word) - 1)
    if not word[i].isalpha():
        return word
    op = rng.choice(["swap", "drop", "double", "sub"])
    if op == "swap" and word[i + 1].isalpha() and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "double":
        return word[:i + 1] + word[i] + word[i + 1:]
    repl = rng.choice(_neighbours(word[i]))
    repl = repl.upper() if word[i].isupper() else repl
    if repl == word[i]:
        return word[:i] + word[i + 1:]
    return word[:i] + repl + word[i + 1:]


def zipf_weights(n: int, s: float, head: float = 0.0) -> list[float]:
    """A flat Zipf tail plus an optionally boosted head, so María, García and
    Smith repeat while the long tail still spreads out."""
    return [k ** -s + head * k ** -2.0 for k in range(1, n + 1)]


def wchoice(rng: random.Random, pairs):
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------

@dataclass
class Person:
    culture: str
    gender: str                      # "m" / "f"
    given: str                       # may be compound ("José Luis")
    surnames: list[str]              # ["García", "López"], ["de la Cruz"], ["Smith-Jones"]
    middle: str | None = None
    english: str | None = None       # preferred English name (East Asian)
    suffix: str | None = None        # Jr., III
    maiden: list[str] | None = None  # surnames before a marriage


@dataclass
class Employee:
    id: int
    person: Person
    name: str
    email: str
    department: str
    is_active: bool
    role: str
    workspace: str
    hr_diacritics: bool
    hr_middle: bool
    previous_names: list[str] = field(default_factory=list)
    old_email: str | None = None     # company email before a name change


class NamePools:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cultures = list(CULTURES)
        self.culture_w = [CULTURES[c]["weight"] for c in self.cultures]
        self.w = {}
        for c, d in CULTURES.items():
            for key in ("male", "female", "surnames", "middle_m", "middle_f"):
                if key in d:
                    # Flatter than real life per name, because the lists are
                    # short: a real floor draws from thousands of surnames.
                    s = d.get("surname_zipf", 0.5) if key == "surnames" else 0.5
                    self.w[(c, key)] = zipf_weights(len(d[key]), s, d.get("head", 0.0))

    def pick(self, culture: str, key: str) -> str:
        return self.rng.choices(CULTURES[culture][key], weights=self.w[(culture, key)], k=1)[0]

    def new_person(self, culture: str | None = None, gender: str | None = None) -> Person:
        rng = self.rng
        culture = culture or rng.choices(self.cultures, weights=self.culture_w, k=1)[0]
        d = CULTURES[culture]
        gender = gender or rng.choice("mf")
        gkey = "male" if gender == "m" else "female"
        # Second-generation Americans often have an Anglo given name.
        if rng.random() < d["anglo_given"]:
            given = self.pick("anglo", gkey)
        else:
            given = self.pick(culture, gkey)
        surnames = [self.pick(culture, "surnames")]
        if rng.random() < d["double_surname"]:
            second = self.pick(culture, "surnames")
            if second != surnames[0]:
                surnames.append(second)
        elif culture not in ("hispanic",) and rng.random() < 0.025:
            # Hyphenated double-barrelled surname.
            other = self.pick(culture, "surnames")
            if other != surnames[0] and " " not in other + surnames[0]:
                surnames = [f"{surnames[0]}-{other}"]
        middle = None
        if rng.random() < d["middle"]:
            if d.get("middle_is_surname"):
                middle = self.pick(culture, "surnames")   # Filipino: mother's maiden name
            elif "middle_m" in d:
                middle = self.pick(culture, "middle_m" if gender == "m" else "middle_f")
            else:
                middle = self.pick("anglo" if culture == "anglo" else culture, gkey)
                if middle == given or " " in given:
                    middle = None
        english = None
        if rng.random() < d.get("english", 0.0) and given in d[gkey]:
            english = rng.choice(ENGLISH_NAMES_M if gender == "m" else ENGLISH_NAMES_F)
        suffix = None
        if gender == "m" and culture in ("anglo", "nigerian") and rng.random() < 0.03:
            suffix = rng.choice(["Jr.", "Jr.", "Sr.", "II", "III"])
        return Person(culture, gender, given, surnames, middle, english, suffix)


def hr_display(p: Person, hr_diacritics: bool, hr_middle: bool, rng: random.Random,
               surnames: list[str] | None = None) -> str:
    """The name as HR typed it."""
    surnames = surnames or p.surnames
    d = CULTURES[p.culture]
    given = p.given
    style = rng.random()
    if p.english and style < 0.3:
        given = f"{p.given} ({p.english})"
    elif p.english and style < 0.38:
        given = f'{p.given} "{p.english}"'
    parts = [given]
    if hr_middle and p.middle:
        parts.append(p.middle)
    sur = " ".join(surnames)
    if rng.random() < d.get("family_first", 0.0) * 0.6:
        name = " ".join([sur] + parts)          # entered family-name first
    else:
        name = " ".join(parts + [sur])
    if p.suffix:
        name += " " + p.suffix
    if not hr_diacritics:
        name = fold(name, expand=p.culture in ("german", "nordic") and rng.random() < 0.3)
    r = rng.random()
    if r < 0.02:
        name = name.upper()                     # legacy import
    elif r < 0.03:
        name = name + " "                       # stray trailing space
    return name


def email_surname(surnames: list[str], rng: random.Random) -> str:
    if len(surnames) == 2:
        r = rng.random()
        if r < 0.7:
            return slug(surnames[0])
        if r < 0.9:
            return slug(surnames[0]) + slug(surnames[1])
        return slug(surnames[0]) + "-" + slug(surnames[1])
    s = surnames[0]
    if "-" in s and rng.random() < 0.5:
        return "-".join(slug(x) for x in s.split("-"))
    return slug(s)


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------

class Generator:
    def __init__(self, seed: int, n_employees: int, no_emails: bool,
                 previous_names: bool = True):
        self.rng = random.Random(seed)
        self.n = n_employees
        self.no_emails = no_emails
        self.previous_names = previous_names
        self.pools = NamePools(self.rng)
        self.domain = self.rng.choice(COMPANY_DOMAINS)
        self.employees: list[Employee] = []
        self.emails_taken: set[str] = set()      # every company email ever issued
        self.pf_emails: set[str] = set()         # PodFactory emails are unique
        self.pf_rows: list[dict] = []            # id, name, email, user_role, truth, category, tags, note
        self.emp_keys: set[tuple[str, str]] = set()

    # -- employees ---------------------------------------------------------

    def company_email(self, p: Person, surnames: list[str], workspace: str,
                      given: str | None = None) -> str:
        rng = self.rng
        domain = LEGACY_DOMAIN if workspace == "NV" and rng.random() < 0.15 else self.domain
        first = slug((given or p.given).split(" ")[0])
        last = email_surname(surnames, rng)
        # MS started with flast; the others use first.last.
        flast_p = 0.6 if workspace == "MS" else 0.08
        base = f"{first[0]}{last}" if rng.random() < flast_p else f"{first}.{last}"
        # On a collision IT picked whatever came to mind: a number, an
        # initial, the other pattern or the middle initial.
        fallbacks = [f"{base}2"]
        if "." in base:
            fallbacks += [f"{first}.{last[0]}", f"{first[0]}{last}"]
            if p.middle:
                fallbacks.append(f"{first}.{slug(p.middle)[0]}.{last}")
        elif p.middle:
            fallbacks.append(f"{first[0]}{slug(p.middle)[0]}{last}")
        for c in [base] + rng.sample(fallbacks, len(fallbacks)):
            if f"{c}@{domain}" not in self.emails_taken:
                return self._take(f"{c}@{domain}")
        k = 2
        while f"{base}{k}@{domain}" in self.emails_taken:
            k += 1
        return self._take(f"{base}{k}@{domain}")

    def _take(self, email: str) -> str:
        self.emails_taken.add(email)
        return email

    def make_employees(self) -> None:
        rng = self.rng
        dept_pairs = [(d[0], d[1]) for d in DEPARTMENTS]
        next_id = 1000 + rng.randrange(50)
        people: list[Person] = [self.pools.new_person() for _ in range(self.n)]
        # Genuine namesakes on top of the natural ones: ~1.2% copy the full
        # name of another employee.
        self.n_injected = max(2, int(self.n * 0.012))
        for i in rng.sample(range(1, self.n), self.n_injected):
            src = people[rng.randrange(i)]
            people[i] = Person(src.culture, src.gender, src.given, list(src.surnames),
                               src.middle, src.english, src.suffix)
        namesake_of: dict[int, int] = {}
        first_idx: dict[str, int] = {}
        for i, p in enumerate(people):
            ws = wchoice(rng, WORKSPACES)
            dept = wchoice(rng, dept_pairs)
            key = fold(" ".join([p.given, *p.surnames])).lower()
            if key in first_idx:
                namesake_of[i] = first_idx[key]
                # Namesakes in this data set always work in different departments.
                other = self.employees[first_idx[key]].department
                while dept == other:
                    dept = wchoice(rng, dept_pairs)
            else:
                first_idx[key] = i
            role = wchoice(rng, ROLES.get(dept, ROLES["default"]))
            d = CULTURES[p.culture]
            hr_diacritics = rng.random() < d["diacritics"]
            hr_middle = p.middle is not None and rng.random() < 0.4
            prev: list[str] = []
            old_email = None
            if p.gender == "f" and rng.random() < 0.045:
                # Married after the PodFactory account was made: HR has the new
                # surname, PodFactory still the old one.
                p.maiden = list(p.surnames)
                new_culture = rng.choices(self.pools.cultures, weights=self.pools.culture_w, k=1)[0]
                new = self.pools.pick(new_culture, "surnames")
                p.surnames = [p.surnames[0], new] if p.culture == "hispanic" and rng.random() < 0.3 else [new]
                old_email = self.company_email(p, p.maiden, ws)
                if rng.random() < 0.5:
                    email = self.company_email(p, p.surnames, ws)
                else:
                    email, old_email = old_email, None   # IT never changed it
                if rng.random() < 0.6:
                    prev.append(hr_display(p, hr_diacritics, hr_middle, rng, surnames=p.maiden).strip())
                    if rng.random() < 0.15:
                        # An earlier marriage too (exercises the ';' separator).
                        earlier = [self.pools.pick(p.culture, "surnames")]
                        prev.append(hr_display(p, hr_diacritics, hr_middle, rng, surnames=earlier).strip())
            else:
                given_for_email = None
                if p.english and rng.random() < 0.3:
                    given_for_email = p.english
                elif p.given in NICKNAMES and rng.random() < 0.03:
                    given_for_email = NICKNAMES[p.given][0]
                email = self.company_email(p, p.surnames, ws, given_for_email)
            name = hr_display(p, hr_diacritics, hr_middle, rng)
            emp = Employee(next_id, p, name, email, dept, rng.random() >= 0.08, role, ws,
                           hr_diacritics, hr_middle, prev, old_email)
            self.employees.append(emp)
            next_id += 1 + (rng.randrange(1, 6) if rng.random() < 0.2 else 0)
        self.namesakes = {self.employees[i].id: self.employees[j].id for i, j in namesake_of.items()}
        for e in self.employees:
            self.emp_keys |= person_keys(e.person)

    # -- PodFactory names ----------------------------------------------------

    def pf_name(self, p: Person, emp: Employee | None) -> tuple[str, list[str]]:
        """What the person (or a floor lead) typed into PodFactory."""
        rng = self.rng
        tags: list[str] = []
        d = CULTURES[p.culture]

        given = p.given
        if p.english and rng.random() < 0.6:
            given = p.english
            tags.append("english_name")
        else:
            parts = given.split(" ")
            if len(parts) > 1:
                r = rng.random()
                if r < 0.35:
                    given = parts[0]
                    tags.append("compound_given_first_part")
                elif r < 0.45:
                    given = parts[-1]
                    tags.append("compound_given_last_part")
                elif r < 0.50:
                    given = "".join(parts)
                    tags.append("compound_given_joined")
            if given in NICKNAMES and rng.random() < 0.14:
                given = rng.choice(NICKNAMES[given])
                tags.append("nickname")
            elif given in SPELLINGS and rng.random() < 0.35:
                given = rng.choice(SPELLINGS[given])
                tags.append("spelling_variant")
            if "-" in given and rng.random() < 0.4:
                given = given.replace("-", "") if rng.random() < 0.5 else given.replace("-", " ")
                given = given[0] + given[1:].lower() if " " not in given else given.title()
                tags.append("given_hyphen_variant")

        hr_middle = emp.hr_middle if emp else False
        middle = None
        if p.middle:
            keep = 0.35 if hr_middle else 0.10
            r = rng.random()
            if r < keep:
                middle = p.middle
            elif r < keep + 0.07:
                middle = fold(p.middle)[0] + "."
        if hr_middle and middle is None:
            tags.append("middle_dropped")
        elif not hr_middle and middle:
            tags.append("middle_added")
        elif hr_middle and middle and middle.endswith("."):
            tags.append("middle_initial")

        surnames = list(p.surnames)
        if p.maiden:
            surnames = list(p.maiden)
            tags.append("married_old_surname")
        if len(surnames) == 2:
            r = rng.random()
            if r < 0.45:
                surnames = surnames[:1]
                tags.append("second_surname_dropped")
            elif r < 0.50:
                surnames = surnames[1:]
                tags.append("first_surname_dropped")
            elif r < 0.60:
                surnames = ["-".join(surnames)]
                tags.append("surnames_hyphenated")
        if emp and p.culture == "hispanic" and len(p.surnames) == 1 and not p.maiden \
                and rng.random() < 0.05:
            # PodFactory has a second surname HR never recorded.
            surnames.append(self.pools.pick("hispanic", "surnames"))
            tags.append("second_surname_added")
        new_s = []
        for s in surnames:
            v = surname_variant(s, rng) if rng.random() < 0.35 else s
            if v != s:
                tags.append("surname_particle_variant")
            new_s.append(v)
        surnames = new_s
        if any(x in SPELLINGS for x in surnames) and rng.random() < 0.3:
            surnames = [rng.choice(SPELLINGS[x]) if x in SPELLINGS else x for x in surnames]
            tags.append("spelling_variant")

        suffix = None
        if p.suffix and emp and rng.random() < 0.35:
            suffix = p.suffix
        if p.suffix and not suffix:
            tags.append("suffix_dropped")

        # Diacritics: independent of what HR did.
        tokens_text = " ".join([given, middle or "", *surnames])
        if not is_ascii(tokens_text):
            hr_d = emp.hr_diacritics if emp else True
            pf_d = rng.random() < d["diacritics"] * 0.8
            if not pf_d:
                expand = p.culture in ("german", "nordic") and rng.random() < 0.35
                given, middle = fold(given, expand), fold(middle, expand) if middle else None
                surnames = [fold(s, expand) for s in surnames]
                if hr_d:
                    tags.append("diacritics_dropped")
                if expand and fold(tokens_text, True) != fold(tokens_text):
                    tags.append("umlaut_expanded")
            elif not hr_d:
                tags.append("diacritics_added")

        sur = " ".join(surnames)
        form = wchoice(rng, [("family_first", 12 if d.get("family_first") else 0),
                             ("username", 6), ("last_comma_first", 6),
                             ("first_last_initial", 5), ("first_only", 1.5), ("normal", 100)])
        if form == "family_first":
            name = " ".join(x for x in [sur, middle, given] if x)
        elif form == "username":
            name = username(given, surnames, rng)
        elif form == "last_comma_first":
            name = f"{sur}, " + " ".join(x for x in [given, middle] if x)
        elif form == "first_last_initial":
            name = f"{given} {fold(sur)[0].upper()}."
        elif form == "first_only":
            name = given
        else:
            name = " ".join(x for x in [given, middle, sur, suffix] if x)
        if form != "normal":
            tags.append(form)

        if rng.random() < 0.07:
            words = name.split(" ")
            idx = [i for i, w in enumerate(words) if len(w) >= 4]
            if idx:
                i = rng.choice(idx)
                new = typo(words[i], rng)
                if new != words[i]:
                    words[i] = new
                    tags.append("typo")
                    name = " ".join(words)

        if "username" not in tags:         # usernames are lowercase already
            r = rng.random()
            if r < 0.10:
                name = name.lower()
                tags.append("lowercase")
            elif r < 0.16:
                name = name.upper()
                tags.append("uppercase")

        if not is_ascii(name) and rng.random() < 0.04:
            name = mojibake(name)
            tags.append("mojibake")
        if rng.random() < 0.04:
            r = rng.random()
            name = name.replace(" ", "  ", 1) if r < 0.5 and " " in name else (
                name + " " if r < 0.8 else " " + name)
            tags.append("whitespace")
        return name, tags

    # -- PodFactory emails ---------------------------------------------------

    def _pf_email_ok(self, email: str) -> bool:
        return email.lower() not in self.pf_emails

    def _claim(self, email: str) -> str:
        if email:
            self.pf_emails.add(email.lower())
        return email

    def personal_email(self, given: str, surnames: list[str], related: bool,
                       exact_local: str | None = None) -> str:
        rng = self.rng
        f = slug(given.split(" ")[0]) or "user"
        last = slug(surnames[0]) or "x"
        for _ in range(20):
            dom = wchoice(rng, PERSONAL_DOMAINS)
            if exact_local:
                local = exact_local
                exact_local = None
            elif related:
                yy = rng.choice([str(rng.randrange(60, 100)), str(rng.randrange(0, 10)).zfill(2),
                                 str(rng.randrange(1965, 2006)), str(rng.randrange(1, 100)), ""])
                local = rng.choice([f"{f[0]}{last}{yy}", f"{f}.{last}{yy}", f"{last}.{f}",
                                    f"{f}{last[0]}{yy}", f"{f}{last}", f"{f}_{last}{yy}"])
            else:
                local = rng.choice(HANDLE_WORDS) + rng.choice(["", "_", "."]) + \
                        rng.choice(HANDLE_WORDS) + str(rng.randrange(1, 999))
            email = f"{local}@{dom}"
            if self._pf_email_ok(email):
                return self._claim(email)
        return ""

    def pf_email_for(self, emp: Employee, second_account: bool) -> tuple[str, str]:
        rng = self.rng
        p = emp.person
        local, dom = emp.email.split("@")
        if emp.old_email and rng.random() < 0.6:
            if self._pf_email_ok(emp.old_email):
                return self._claim(emp.old_email), "email:stale_old_surname"
        r = rng.random()
        if second_account:
            r = 0.45 + rng.random() * 0.35       # station or personal
        if r < 0.38:
            if self._pf_email_ok(emp.email):
                return self._claim(emp.email), "email:same"
        elif r < 0.45:
            styled = rng.choice([emp.email.upper(), local.title() + "@" + dom,
                                 ".".join(x.capitalize() for x in local.split(".")) + "@" + dom.title()])
            if styled == emp.email:
                styled = emp.email.upper()
            if self._pf_email_ok(styled):
                return self._claim(styled), "email:case"
        elif r < 0.57:
            dept_suffixes = next(d[3] for d in DEPARTMENTS if d[0] == emp.department)
            sfx = rng.choice(dept_suffixes + ["shp", "hp", "pack", "pick", "ship"])
            odd = rng.random() < 0.08
            if odd:
                # Forms a suffix-stripper may not expect.
                cand = rng.choice([f"{local}+{sfx}@{dom}", f"{sfx}.{local}@{dom}",
                                   f"{local}-{sfx}@{dom}", f"{local}.{sfx}2@{dom}"])
            else:
                cand = f"{local}.{sfx}@{dom}"
                if rng.random() < 0.1:
                    cand = cand.upper() if rng.random() < 0.5 else f"{local}.{sfx.upper()}@{dom}"
            if self._pf_email_ok(cand):
                return self._claim(cand), "email:station_odd" if odd else "email:station"
        elif r < 0.76:
            given = p.english or p.given
            if rng.random() < 0.7:
                exact = local if rng.random() < 0.15 else None
                e = self.personal_email(given, p.maiden or p.surnames, True, exact)
                if e:
                    return e, "email:personal_same_local" if exact and e.startswith(local + "@") \
                        else "email:personal_related"
            else:
                e = self.personal_email(given, p.surnames, False)
                if e:
                    return e, "email:personal_unrelated"
        elif r < 0.78 and emp.workspace == "NV" and dom != LEGACY_DOMAIN:
            cand = f"{local}@{LEGACY_DOMAIN}"
            if self._pf_email_ok(cand) and cand not in self.emails_taken:
                return self._claim(cand), "email:legacy_domain"
        return "", "email:none"

    # -- PodFactory users ----------------------------------------------------

    def add_pf(self, name: str, email: str, role: str, truth: int | None,
               category: str, tags: list[str], note: str = "") -> None:
        self.pf_rows.append(dict(name=name, email=email, user_role=role, truth=truth,
                                 category=category, tags=tags, note=note))

    def make_podfactory(self) -> None:
        rng = self.rng
        share = {d[0]: d[2] for d in DEPARTMENTS}
        with_namesake = set(self.namesakes) | set(self.namesakes.values())
        for emp in self.employees:
            p_have = share[emp.department] if emp.is_active else 0.55
            if rng.random() >= p_have:
                continue
            accounts = 2 if rng.random() < 0.03 else 1
            for k in range(accounts):
                name, tags = self.pf_name(emp.person, emp)
                email, etag = self.pf_email_for(emp, second_account=k > 0)
                tags.append(etag)
                if not emp.is_active:
                    tags.append("employee_inactive")
                if emp.id in with_namesake:
                    tags.append("has_namesake")
                if emp.previous_names:
                    tags.append("previous_names_in_hr")
                if k:
                    tags.append("second_account")
                role = PF_ROLE[emp.role] if rng.random() < 0.9 else "operator"
                self.add_pf(name, email, role, emp.id, "employee", tags)

        n_true = len(self.pf_rows)
        n_other = round(n_true * 0.15 / 0.85)
        mix = [("temp", 0.40), ("near_miss", 0.15), ("former_employee", 0.17),
               ("station", 0.15), ("vendor", 0.05), ("test", 0.08)]
        for cat, w in mix:
            for _ in range(max(1, round(n_other * w))):
                getattr(self, f"make_{cat}")()

    def _outsider(self) -> Person:
        """A person who is not in HR and cannot be confused by name alone
        (given-name class + any surname part differs from every employee)."""
        for _ in range(200):
            p = self.pools.new_person()
            if not (person_keys(p) & self.emp_keys):
                return p
        raise RuntimeError("could not draw an outsider name")

    def make_temp(self) -> None:
        rng = self.rng
        p = self._outsider()
        name, tags = self.pf_name(p, None)
        r = rng.random()
        if r < 0.45:
            email = ""
        elif r < 0.85:
            email = self.personal_email(p.given, p.surnames, rng.random() < 0.7)
        else:
            email = f"{slug(p.given.split(' ')[0])}.{slug(p.surnames[0])}{rng.randrange(1, 99)}@{STAFFING_DOMAIN}"
            email = self._claim(email) if self._pf_email_ok(email) else ""
        self.add_pf(name, email, "operator", None, "temp", tags)

    def make_near_miss(self) -> None:
        """A temp whose name is one plausible step from a real employee's:
        the kind of pair a fuzzy matcher links and a person would not."""
        rng = self.rng
        for _ in range(200):
            emp = rng.choice(self.employees)
            src = emp.person
            d = CULTURES[src.culture]
            p = Person(src.culture, src.gender, src.given, list(src.surnames))
            if rng.random() < 0.5:
                gkey = "male" if src.gender == "m" else "female"
                close = [g for g in d[gkey] + CULTURES["anglo"][gkey] if similar(g, src.given)]
                if not close:
                    continue
                p.given = rng.choice(close)
                how = "other_given"
            else:
                close = [s for s in d["surnames"] + CULTURES["anglo"]["surnames"]
                         if s not in src.surnames and similar(s, src.surnames[0])]
                if not close:
                    continue
                p.surnames = [rng.choice(close)] + src.surnames[1:]
                how = "other_surname"
            if not (person_keys(p) & self.emp_keys):
                break
        else:
            return
        name, tags = self.pf_name(p, None)
        email = "" if rng.random() < 0.5 else self.personal_email(p.given, p.surnames, True)
        self.add_pf(name, email, "operator", None, "near_miss", tags + [how],
                    note=f"resembles employee {emp.id}")

    def make_former_employee(self) -> None:
        """Left before the HR export was purged: a real-looking company email
        that belongs to nobody in employees.csv."""
        rng = self.rng
        p = self._outsider()
        name, tags = self.pf_name(p, None)
        email = ""
        if rng.random() < 0.6:
            cand = f"{slug(p.given.split(' ')[0])}.{slug(p.surnames[0])}@{self.domain}"
            if cand not in self.emails_taken and self._pf_email_ok(cand):
                email = self._claim(cand)
        self.add_pf(name, email, rng.choice(["operator", "operator", "lead"]), None,
                    "former_employee", tags)

    def make_station(self) -> None:
        rng = self.rng
        ws = wchoice(rng, WORKSPACES)
        n = rng.randrange(1, 30)
        name = rng.choice([f"Station {n}", f"{ws} Station {n}", f"Heat Press {n}",
                           f"HP{n:02d}", f"Packing Line {'ABCDEFG'[n % 7]}",
                           f"Pack Station {n}", f"Pick Cart {n}", f"Shipping Desk {n}",
                           f"Printer {n:02d}", f"DTG {n}", f"Kiosk {ws}-{n}",
                           f"{ws} Receiving Dock", f"QC Bench {n}", "Floor Lead Tablet"])
        tags = []
        if rng.random() < 0.12:
            # Shared login labelled with whoever usually stands there.
            name += rng.choice([" - ", " (", " / "]) + rng.choice(self.employees).person.given.split(" ")[0]
            name += ")" if "(" in name else ""
            tags.append("station_named_after_person")
        email = ""
        r = rng.random()
        if r < 0.5:
            cand = rng.choice([f"station{n}@{self.domain}", f"{ws.lower()}.hp{n}@{self.domain}",
                               f"kiosk{n}.{ws.lower()}@{self.domain}",
                               f"station{n}.shp@{self.domain}", f"{ws.lower()}floor{n}@{self.domain}"])
            if self._pf_email_ok(cand):
                email = self._claim(cand)
        self.add_pf(name, email, "station", None, "station", tags)

    def make_vendor(self) -> None:
        rng = self.rng
        name, email = rng.choice([
            ("PodFactory Support", "support@podfactory.com"), ("PF Integration", "api@podfactory.com"),
            ("Epson Field Tech", "fieldservice@epson.com"), ("Kornit Service", "service.us@kornit.com"),
            ("ShipStation Sync", ""), ("Shopify Bot", ""), ("Vendor - Brother Tech", "tech@brother.com"),
            ("Onboarding Consultant", "onboarding@podfactory.com"), ("Printful Liaison", ""),
            ("Sawgrass Tech", "support@sawgrassink.com"), ("IT Contractor", f"it-contractor@{self.domain}")])
        if email and not self._pf_email_ok(email):
            local, dom = email.split("@")
            email = f"{local}{rng.randrange(2, 9)}@{dom}"
            email = self._claim(email) if self._pf_email_ok(email) else ""
        else:
            self._claim(email)
        self.add_pf(name, email, rng.choice(["admin", "vendor", "viewer"]), None, "vendor", [])

    def make_test(self) -> None:
        rng = self.rng
        given = rng.choice(self.employees).person.given.split(" ")[0]
        name = rng.choice(["Test User", "test test", f"Test Operator {rng.randrange(1, 9)}",
                           "QA Tester", "Demo Account", f"Training Login {rng.randrange(1, 9)}",
                           "asdf", "John Doe", "Jane Doe", f"Test {given}", f"{given} Test",
                           "New Hire Training", "DO NOT USE"])
        email = ""
        if rng.random() < 0.5:
            cand = rng.choice([f"test{rng.randrange(1, 99)}@{self.domain}", "test@test.com",
                               f"training{rng.randrange(1, 9)}@{self.domain}", "demo@podfactory.com"])
            if self._pf_email_ok(cand):
                email = self._claim(cand)
        self.add_pf(name, email, rng.choice(["operator", "admin"]), None, "test", [])

    # -- output --------------------------------------------------------------

    def write(self, out: str) -> None:
        os.makedirs(out, exist_ok=True)
        rng = self.rng
        with open(os.path.join(out, "employees.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            extra = ["previous_names"] if self.previous_names else []
            w.writerow(["id", "name", "email", "department", "is_active", "role",
                        "workspace"] + extra)
            for e in self.employees:
                w.writerow([e.id, e.name, e.email, e.department,
                            "true" if e.is_active else "false", e.role, e.workspace]
                           + ([";".join(e.previous_names)] if extra else []))
        # PodFactory ids are unrelated to HR ids and the export is in id order.
        ids = rng.sample(range(1000, 1000 + 12 * len(self.pf_rows)), len(self.pf_rows))
        rows = sorted(zip(ids, self.pf_rows), key=lambda t: t[0])
        with open(os.path.join(out, "podfactory.csv"), "w", newline="", encoding="utf-8") as fp, \
                open(os.path.join(out, "truth.csv"), "w", newline="", encoding="utf-8") as ft, \
                open(os.path.join(out, "noise.csv"), "w", newline="", encoding="utf-8") as fn:
            wp, wt, wn = (csv.writer(x, lineterminator="\n") for x in (fp, ft, fn))
            wp.writerow(["id", "name", "email", "user_role"])
            wt.writerow(["podfactory_id", "employee_id"])
            wn.writerow(["podfactory_id", "category", "tags", "note"])
            for i, r in rows:
                pid = f"u{i}"
                email = "" if self.no_emails else r["email"]
                tags = r["tags"]
                if self.no_emails:
                    tags = [t for t in tags if not t.startswith("email:")] + ["email:none"]
                wp.writerow([pid, r["name"], email, r["user_role"]])
                wt.writerow([pid, "" if r["truth"] is None else r["truth"]])
                wn.writerow([pid, r["category"], " ".join(tags), r["note"]])

    def summary(self) -> str:
        emps = self.employees
        active = sum(e.is_active for e in emps)
        linked_emp = {r["truth"] for r in self.pf_rows if r["truth"] is not None}
        active_without = sum(1 for e in emps if e.is_active and e.id not in linked_emp)
        cats = collections.Counter(r["category"] for r in self.pf_rows)
        true_rows = [r for r in self.pf_rows if r["truth"] is not None]
        tags = collections.Counter(t for r in true_rows for t in set(r["tags"]))
        names = collections.Counter(fold(" ".join([e.person.given, *e.person.surnames])).lower()
                                    for e in emps)
        lines = [
            f"employees: {len(emps)} ({active} active, {len(emps) - active} inactive), "
            f"domain {self.domain}",
            f"active employees without a PodFactory user: {active_without} "
            f"({100 * active_without / max(1, active):.1f}%)",
            f"employees sharing their full name with another: "
            f"{sum(c for c in names.values() if c > 1)} ({self.n_injected} injected, the rest by "
            f"popularity); names shared: {sum(1 for c in names.values() if c > 1)}; "
            f"top: " + ", ".join(f"{n} x{c}" for n, c in names.most_common(5)),
            f"employees with previous_names: {sum(1 for e in emps if e.previous_names)}",
            f"podfactory users: {len(self.pf_rows)}: " + ", ".join(
                f"{c} {n} ({100 * n / len(self.pf_rows):.1f}%)" for c, n in cats.most_common()),
            "noise among users with a true employee (a user usually has several):",
        ]
        for t, n in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {t:32s} {n:6d}  {100 * n / len(true_rows):5.1f}%")
        clean = sum(1 for r in true_rows
                    if not [t for t in r["tags"] if not t.startswith("email:")
                            and t not in ("employee_inactive", "has_namesake",
                                          "previous_names_in_hr", "second_account")])
        lines.append(f"  {'(name unchanged by any noise)':32s} {clean:6d}  "
                     f"{100 * clean / len(true_rows):5.1f}%")
        return "\n".join(lines)


def surname_variant(s: str, rng: random.Random) -> str:
    """How particles, apostrophes and hyphens get mangled by data entry."""
    if s.startswith(("O'", "O’")):
        return rng.choice(["O" + s[2:], "O " + s[2:], "O’" + s[2:], s[2:]])
    if s.startswith(("Mc", "Mac")) and len(s) > 4:
        return rng.choice([s.lower().capitalize(), s[:2] + " " + s[2:] if s.startswith("Mc") else s])
    if s.startswith(("Al-", "El-", "Abu-")):
        pre, rest = s.split("-", 1)
        return rng.choice([pre + rest.lower(), f"{pre} {rest}", rest, f"{'El' if pre == 'Al' else pre}-{rest}"])
    if "-" in s:
        a, b = s.split("-", 1)
        return rng.choice([f"{a} {b}", a + b.lower(), a, b])
    if " " in s:
        words = s.split(" ")
        joined = words[0].capitalize() + "".join(w.lower() for w in words[1:])
        return rng.choice([joined, " ".join(w.capitalize() for w in words),
                           s.lower(), words[-1],
                           ("Dela " + words[-1]) if s.lower().startswith("de la ") else joined])
    if s.startswith("St. "):
        return rng.choice(["St " + s[4:], "Saint " + s[4:], "St" + s[4:]])
    return s


def username(given: str, surnames: list[str], rng: random.Random) -> str:
    f = slug(given.split(" ")[0]) or "x"
    last = slug(surnames[0]) or "x"
    return rng.choice([f"{f[0]}{last}", f"{f}.{last}", f"{f}_{last}",
                       f"{f[0]}{last}{rng.randrange(1, 10)}", f"{last}{f[0]}", f"{f}{last[0]}",
                       f"{f}.{last}{rng.randrange(1, 100)}"])


def _given_variants(g: str) -> set[str]:
    """Every given name that can stand for g (nicknames, spellings), both ways."""
    out = {slug(g)}
    for table in (NICKNAMES, SPELLINGS):
        for formal, alts in table.items():
            if g == formal or g in alts:
                out |= {slug(formal)} | {slug(a) for a in alts}
    return out


def person_keys(p: Person) -> set[tuple[str, str]]:
    """(given-name class, surname part) pairs a name can be reduced to by noise."""
    givens = set()
    for g in [p.given, *p.given.split(" "), *p.given.split("-"), p.english or ""]:
        if g:
            givens |= _given_variants(g)
    parts: set[str] = set()
    for surnames in (p.surnames, p.maiden or []):
        for s in surnames:
            parts.add(slug(s))
            for piece in s.replace("-", " ").split(" "):
                if len(piece) > 2:
                    parts.add(slug(piece))
    return {(g, s) for g in givens for s in parts}


def similar(a: str, b: str) -> bool:
    """Close enough to be mistaken for each other: edit distance <= 2 or a
    shared 3-letter prefix with similar length."""
    a, b = slug(a), slug(b)
    if a == b:
        return False
    if len(a) >= 4 and a[:3] == b[:3] and abs(len(a) - len(b)) <= 2:
        return True
    return _lev(a, b) <= (2 if min(len(a), len(b)) >= 5 else 1)


def _lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--employees", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-emails", action="store_true", help="leave every PodFactory email empty")
    ap.add_argument("--no-previous-names", action="store_true",
                    help="omit the previous_names column from employees.csv")
    ap.add_argument("--quiet", action="store_true", help="do not print the summary")
    args = ap.parse_args(argv)
    if args.employees < 20:
        ap.error("--employees must be at least 20")
    g = Generator(args.seed, args.employees, args.no_emails, not args.no_previous_names)
    g.make_employees()
    g.make_podfactory()
    g.write(args.out)
    if not args.quiet:
        print(g.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
